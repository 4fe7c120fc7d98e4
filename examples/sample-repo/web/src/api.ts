import type { Invoice, InvoiceFilters, InvoicePage } from "./types";

const API_URL: string = import.meta.env.VITE_API_URL ?? "http://localhost:5000";

export class ApiError extends Error {
  constructor(public status: number, message: string) {
    super(message);
  }
}

async function request<T>(path: string, init?: RequestInit): Promise<T> {
  const response = await fetch(`${API_URL}${path}`, {
    headers: { "Content-Type": "application/json" },
    ...init,
  });
  if (!response.ok) {
    throw new ApiError(response.status, await response.text());
  }
  return (await response.json()) as T;
}

export function invoiceQuery(filters: InvoiceFilters, page: number): string {
  const params = new URLSearchParams({ page: String(page) });
  if (filters.status) params.set("status", filters.status);
  if (filters.customerId) params.set("customer_id", String(filters.customerId));
  if (filters.q) params.set("q", filters.q);
  return params.toString();
}

export const fetchInvoices = (filters: InvoiceFilters, page = 1): Promise<InvoicePage> =>
  request<InvoicePage>(`/api/invoices?${invoiceQuery(filters, page)}`);

export const fetchInvoice = (id: number): Promise<Invoice> =>
  request<Invoice>(`/api/invoices/${id}`);

export function invoicePdfUrl(id: number): string {
  return `${API_URL}/api/invoices/${id}/pdf`;
}
