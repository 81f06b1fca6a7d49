/**
 * The console's shell: who is signed in (or the sign-in page), a header with their name, role and
 * sign-out, and the page the path names.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Principal } from '@cx/api-schemas';
import { accessOf, type Access } from './access.js';
import { api, onSignedOut } from './api.js';
import { ProblemMessage } from './components.js';
import { Link, navigate, usePath } from './router.js';
import { SignIn } from './pages/sign-in.js';
import { ClusterList } from './pages/cluster-list.js';
import { ClusterPage } from './pages/cluster-page.js';
import { CreateCluster } from './pages/create-cluster.js';
import { AdminPage, isAdmin } from './pages/admin/admin.js';

interface Session {
  user: Principal;
  access: Access;
}

async function loadSession(user?: Principal | null): Promise<Session | null> {
  const me = user === undefined ? await api.session() : user;
  return me ? { user: me, access: accessOf(me, await api.grants()) } : null;
}

/**
 * Back from single sign-on at /signed-in#token=…&expiresAt=…: the fragment leaves the address (and
 * the history) at once, and the token goes into the session cookie, kept nowhere else.
 */
async function signedInBySingleSignOn(): Promise<Session | null> {
  const fragment = new URLSearchParams(location.hash.slice(1));
  navigate('/', { replace: true });
  const token = fragment.get('token');
  const expiresAt = fragment.get('expiresAt');
  if (!token || !expiresAt) return loadSession();
  return loadSession((await api.adoptToken(token, expiresAt)).user ?? undefined);
}

export function App() {
  // undefined: not known yet; null: signed out.
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const path = usePath();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    onSignedOut(() => setSession(null));
    (location.pathname === '/signed-in' ? signedInBySingleSignOn() : loadSession()).then(setSession, setError);
  }, []);

  // A new page moves focus to its heading, so that screen readers and keyboards start there.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path, session === null]);

  if (error) return <ProblemMessage error={error} />;
  if (session === undefined)
    return (
      <p class="loading" aria-live="polite">
        Loading…
      </p>
    );
  if (session === null)
    return (
      <main ref={main} class="narrow">
        <SignIn onSignedIn={(user) => loadSession(user ?? undefined).then(setSession, setError)} />
      </main>
    );

  const signOut = async (): Promise<void> => {
    try {
      await api.signOut();
    } finally {
      setSession(null);
      navigate('/', { replace: true });
    }
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/" class="brand">
          cx
        </Link>
        <nav aria-label="Main">
          <Link href="/clusters" aria-current={path.startsWith('/clusters') || path === '/' ? 'page' : undefined}>
            Clusters
          </Link>
          {isAdmin(session.access) ? (
            <Link href="/admin/users" aria-current={path.startsWith('/admin') ? 'page' : undefined}>
              Administration
            </Link>
          ) : null}
        </nav>
        <div class="me">
          <span>
            <span class="visually-hidden">Signed in as </span>
            <strong data-testid="whoami">{session.user.username}</strong>{' '}
            <span class="badge muted" title={`source: ${session.user.source}`}>
              {session.user.role}
            </span>
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main}>
        <Page path={path} access={session.access} />
      </main>
    </>
  );
}

function Page({ path, access }: { path: string; access: Access }) {
  if (path === '/' || path === '/clusters') return <ClusterList access={access} />;
  if (path === '/clusters/new') return <CreateCluster access={access} />;
  const admin = /^\/admin(?:\/([^/]*))?$/.exec(path);
  if (admin) return <AdminPage section={admin[1] ?? ''} access={access} />;
  const cluster = /^\/clusters\/([^/]+)$/.exec(path);
  if (cluster) {
    const id = decodeURIComponent(cluster[1]!);
    // Keyed: another cluster is another page, with none of the last one's state.
    return <ClusterPage key={id} id={id} access={access} />;
  }
  return (
    <>
      <h1 tabIndex={-1}>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link href="/clusters">See the clusters</Link>.
      </p>
    </>
  );
}
