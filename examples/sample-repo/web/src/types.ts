export type InvoiceStatus = "draft" | "sent" | "paid" | "void";

export interface Customer {
  id: number;
  name: string;
  email: string;
}

export interface LineItem {
  description: string;
  quantity: number;
  unit_price: string;
  amount: string;
}

export interface Invoice {
  id: number;
  number: string;
  customer: Customer;
  status: InvoiceStatus;
  issued_on: string;
  due_on: string;
  currency: string;
  total: string;
  lines: LineItem[];
}

export interface InvoicePage {
  items: Invoice[];
  page: number;
  page_size: number;
  total_count: number;
  page_count: number;
}

export interface InvoiceFilters {
  status?: InvoiceStatus;
  customerId?: number;
  q?: string;
}
