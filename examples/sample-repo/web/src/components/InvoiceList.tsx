import { useEffect, useState } from "react";
import { Link } from "react-router-dom";

import { fetchInvoices } from "../api";
import type { InvoiceFilters, InvoicePage, InvoiceStatus } from "../types";
import { Pagination } from "./Pagination";
import { StatusBadge } from "./StatusBadge";

const STATUSES: InvoiceStatus[] = ["draft", "sent", "paid", "void"];

export default function InvoiceList() {
  const [filters, setFilters] = useState<InvoiceFilters>({});
  const [page, setPage] = useState(1);
  const [data, setData] = useState<InvoicePage | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    fetchInvoices(filters, page)
      .then(setData)
      .catch((e: Error) => setError(e.message));
  }, [filters, page]);

  const onStatusChange = (value: string) => {
    setPage(1);
    setFilters({ ...filters, status: (value || undefined) as InvoiceStatus | undefined });
  };

  if (error) return <p className="error">Could not load invoices: {error}</p>;
  if (!data) return <p>Loading invoices…</p>;

  return (
    <section>
      <header className="toolbar">
        <h1>Invoices</h1>
        <input
          placeholder="Search number or customer"
          value={filters.q ?? ""}
          onChange={(e) => setFilters({ ...filters, q: e.target.value })}
        />
        <select value={filters.status ?? ""} onChange={(e) => onStatusChange(e.target.value)}>
          <option value="">All statuses</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </header>
      <table className="invoice-list">
        <thead>
          <tr>
            <th>Number</th>
            <th>Customer</th>
            <th>Status</th>
            <th>Issued</th>
            <th>Due</th>
            <th>Total</th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((invoice) => (
            <tr key={invoice.id}>
              <td>
                <Link to={`/invoices/${invoice.id}`}>{invoice.number}</Link>
              </td>
              <td>{invoice.customer.name}</td>
              <td>
                <StatusBadge status={invoice.status} />
              </td>
              <td>{invoice.issued_on}</td>
              <td>{invoice.due_on}</td>
              <td>
                {invoice.total} {invoice.currency}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pagination page={data.page} pageCount={data.page_count} onChange={setPage} />
    </section>
  );
}
