import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";

import InvoiceDetail from "./components/InvoiceDetail";
import InvoiceList from "./components/InvoiceList";

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/" element={<Navigate to="/invoices" replace />} />
        <Route path="/invoices" element={<InvoiceList />} />
        <Route path="/invoices/:id" element={<InvoiceDetail />} />
      </Routes>
    </BrowserRouter>
  );
}
