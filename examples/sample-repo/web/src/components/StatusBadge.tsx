import type { InvoiceStatus } from "../types";

const COLORS: Record<InvoiceStatus, string> = {
  draft: "gray",
  sent: "blue",
  paid: "green",
  void: "red",
};

export const StatusBadge = ({ status }: { status: InvoiceStatus }) => (
  <span className={`badge badge-${COLORS[status]}`}>{status}</span>
);
