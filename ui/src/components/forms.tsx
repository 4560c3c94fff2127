// Form helpers: which field an API error names, and a delete button that asks once more.
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';

/**
 * The form field an API error belongs to: `roles[1]` -> roles, `body.physicalRole` ->
 * physicalRole, and for a service checked within the whole fabric `virtualNetworks[0].vni` -> vni.
 */
export function fieldOf(e: unknown): string | undefined {
  if (!(e instanceof ApiError) || !e.path) return undefined;
  return e.path.replace(/^body\./, '').replace(/^(virtualNetworks|logicalRouters|servers|vpgs)\[\d+\]\./, '').split(/[.[]/)[0];
}

/** "Delete" then "Confirm delete": two deliberate presses, keyboard-friendly, no dialog. */
export function ConfirmButton({ label, confirmLabel, onConfirm, disabled }: { label: string; confirmLabel?: string; onConfirm(): void; disabled?: boolean }) {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return;
    const t = setTimeout(() => setArmed(false), 4000);
    return () => clearTimeout(t);
  }, [armed]);
  return (
    <button type="button" class={`small ${armed ? 'danger' : 'ghost'}`} disabled={disabled}
      onClick={() => { if (armed) { setArmed(false); onConfirm(); } else setArmed(true); }}>
      {armed ? confirmLabel ?? `Confirm ${label.toLowerCase()}` : label}
    </button>
  );
}
