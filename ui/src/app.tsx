// The shell: sign-in gate, header with navigation and the session, and the routes.
import { useEffect, useState } from 'preact/hooks';
import { api, setUnauthorizedHandler } from './api';
import { BASE, enc, href, navigate, onLinkClick, useLocation } from './router';
import { clearToken, getToken, setWhoami, useSession } from './session';
import { Spinner, ErrorNote } from './components/ui';
import { SignIn } from './pages/signin';
import { FabricsPage } from './pages/fabrics';
import { FabricPage, FABRIC_TABS, type FabricTab } from './pages/fabric';
import { JobPage, JobsPage } from './pages/jobs';

function route(path: string) {
  let m: RegExpExecArray | null;
  if (path === '/' || path === '/fabrics') return <FabricsPage />;
  if ((m = /^\/fabrics\/([^/]+)\/devices\/([^/]+)$/.exec(path))) return <FabricPage fabric={decodeURIComponent(m[1])} tab="devices" device={decodeURIComponent(m[2])} />;
  if ((m = /^\/fabrics\/([^/]+)(?:\/([a-z-]+))?$/.exec(path))) {
    const tab = (m[2] ?? 'topology') as FabricTab;
    if (FABRIC_TABS.some((t) => t.id === tab)) return <FabricPage fabric={decodeURIComponent(m[1])} tab={tab} />;
  }
  if (path === '/jobs') return <JobsPage />;
  if ((m = /^\/jobs\/([^/]+)$/.exec(path))) return <JobPage id={decodeURIComponent(m[1])} />;
  return <div class="page"><h1>Not found</h1><p>There is no view at <code>{BASE}{path}</code>. <a href={href('/')}>Fabrics</a></p></div>;
}

export function App() {
  const loc = useLocation();
  const me = useSession();
  const [checkError, setCheckError] = useState<Error>();
  const token = getToken();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      const here = location.pathname.slice(BASE.length) + location.search;
      navigate(`/signin${here && here !== '/' && !here.startsWith('/signin') ? `?next=${enc(here)}` : ''}`, { replace: true });
    });
  }, []);
  useEffect(() => {
    // Once per page load: who the token is now (a revoked one answers 401 and signs out).
    if (token) api.whoami().then(setWhoami, (e: Error) => setCheckError(e));
  }, [token]);

  // Without a token any URL shows the form, and comes back to that URL once signed in.
  if (!token || loc.path === '/signin') return <SignIn next={loc.path === '/signin' ? loc.query.get('next') ?? undefined : `${loc.path}${location.search}`} />;
  if (!me) return <div class="page">{checkError ? <ErrorNote error={checkError} /> : <Spinner label="Checking the session" />}</div>;

  const section = loc.path.startsWith('/jobs') ? 'jobs' : 'fabrics';
  return (
    // eslint-disable-next-line jsx-a11y/click-events-have-key-events -- links handle their own keys
    <div class="shell" onClick={onLinkClick}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="topbar">
        <a class="brand" href={href('/')} aria-label="Fabric home">
          <svg viewBox="0 0 32 32" width="22" height="22" aria-hidden="true"><rect width="32" height="32" rx="7" class="brand-bg" /><g class="brand-fg"><rect x="7" y="7" width="6" height="5" rx="1.5" /><rect x="19" y="7" width="6" height="5" rx="1.5" /><rect x="4" y="20" width="6" height="5" rx="1.5" /><rect x="13" y="20" width="6" height="5" rx="1.5" /><rect x="22" y="20" width="6" height="5" rx="1.5" /></g></svg>
          <span>fabric</span>
        </a>
        <nav aria-label="Main">
          <a href={href('/')} aria-current={section === 'fabrics' ? 'page' : undefined}>Fabrics</a>
          <a href={href('/jobs')} aria-current={section === 'jobs' ? 'page' : undefined}>Jobs</a>
          <a href="/docs" target="_blank" rel="noopener">API</a>
        </nav>
        <div class="spacer" />
        <div class="who" data-testid="whoami">
          <span class="who-name">{me.name ?? `token ${me.id}`}</span>
          <span class={`role role-${me.role}`}>{me.role}</span>
          <button type="button" class="ghost" onClick={() => { clearToken(); navigate('/signin'); }}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{route(loc.path)}</main>
    </div>
  );
}
