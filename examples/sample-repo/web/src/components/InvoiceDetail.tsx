import { useEffect, useState } from "react";
import { useParams } from "react-router-dom";

import { fetchInvoice, invoicePdfUrl } from "../api";
import type { Invoice } from "../types";
import { StatusBadge } from "./StatusBadge";

export default function InvoiceDetail() {
  const { id } = useParams<{ id: string }>();
  const [invoice, setInvoice] = useState<Invoice | null>(null);

  useEffect(() => {
    if (id) fetchInvoice(Number(id)).then(setInvoice);
  }, [id]);

  if (!invoice) return <p>Loading…</p>;

  return (
    <article>
      <h1>
        Invoice {invoice.number} <StatusBadge status={invoice.status} />
      </h1>
      <p>
        {invoice.customer.name} · due {invoice.due_on}
      </p>
      <table>
        <tbody>
          {invoice.lines.map((line, i) => (
            <tr key={i}>
              <td>{line.description}</td>
              <td>{line.quantity}</td>
              <td>{line.unit_price}</td>
              <td>{line.amount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="total">
        Total: {invoice.total} {invoice.currency}
      </p>
      <a href={invoicePdfUrl(invoice.id)}>Download PDF</a>
    </article>
  );
}
