// The session: the token in sessionStorage (this tab only, gone when it closes; never in a URL
// or cookie), and who it is (GET /whoami), so the UI offers only what the role may do.
import { useEffect, useState } from 'preact/hooks';
import type { Whoami } from './types';

const KEY = 'fabric.token';
/** Who the token is (id, role, name: nothing secret), so a reload draws at once. */
const WHO = 'fabric.whoami';
let me: Whoami | undefined = readWho();
const listeners = new Set<() => void>();
const emit = () => { for (const l of listeners) l(); };

function readWho(): Whoami | undefined {
  try {
    const raw = sessionStorage.getItem(WHO);
    return raw && sessionStorage.getItem(KEY) ? (JSON.parse(raw) as Whoami) : undefined;
  } catch { return undefined; }
}

export function getToken(): string | undefined {
  try { return sessionStorage.getItem(KEY) ?? undefined; } catch { return undefined; }
}

export function signIn(token: string, who: Whoami): void {
  sessionStorage.setItem(KEY, token);
  sessionStorage.setItem(WHO, JSON.stringify(who));
  me = who;
  emit();
}

export function clearToken(): void {
  try { sessionStorage.removeItem(KEY); sessionStorage.removeItem(WHO); } catch { /* storage disabled */ }
  me = undefined;
  emit();
}

export function setWhoami(who: Whoami): void {
  me = who;
  try { sessionStorage.setItem(WHO, JSON.stringify(who)); } catch { /* storage disabled */ }
  emit();
}

/** Re-renders the caller when the session changes. */
export function useSession(): Whoami | undefined {
  const [, tick] = useState(0);
  useEffect(() => {
    const l = () => tick((n) => n + 1);
    listeners.add(l);
    return () => { listeners.delete(l); };
  }, []);
  return me;
}
