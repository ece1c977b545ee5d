import { EmptyState } from '../components/EmptyState';

// Pages whose capability has not landed yet say what will be there — no fake data.

export function ReportsPage() {
  return (
    <div className="page">
      <h1>Reports</h1>
      <EmptyState title="Reports are coming">
        <p>
          Reports for a business owner or an auditor — patch status, overdue security fixes against your SLA,
          and job history — exported as HTML, PDF, CSV or JSON.
        </p>
      </EmptyState>
    </div>
  );
}
