import { EmptyState } from '../components/EmptyState';

// Pages whose capability has not landed yet say what will be there — no fake data.

export function JobsPage() {
  return (
    <div className="page">
      <h1>Patch jobs</h1>
      <EmptyState title="No patch jobs">
        <p>
          Approved patch jobs will appear here with a progress bar per host, live logs, reboot handling and
          the re-audit that proves each host is fixed.
        </p>
      </EmptyState>
    </div>
  );
}

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
