/**
 * The console's shell: the login form (the API key is kept in this browser tab's sessionStorage, never in a
 * URL), the header with the server's version and a log-out button, and the hash routes:
 *
 *   #/                 pipelines (list.tsx)
 *   #/new              new pipeline (editor.tsx)
 *   #/p/NAME[/TAB]     a pipeline (pipeline.tsx; TAB = query, durability, logs, program)
 *
 * State: the session's SDK client (rebuilt on login and logout) and whether the server wants a key.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { HoldfastClient, isApiError } from '../client/index.ts';
import { ProgramForm } from './editor.tsx';
import { PipelineList } from './list.tsx';
import { PipelinePage } from './pipeline.tsx';
import { errorText, type Session, SessionContext, useRoute } from './util.tsx';

const KEY_ITEM = 'holdfast.apiKey';

function storedKey(): string | undefined {
  try {
    return sessionStorage.getItem(KEY_ITEM) ?? undefined;
  } catch {
    return undefined;
  }
}

function makeClient(key: string | undefined): HoldfastClient {
  return new HoldfastClient({ url: location.origin, apiKey: key, timeoutMs: 30_000 });
}

type Auth = 'checking' | 'ok' | 'login';

export function App() {
  const [client, setClient] = useState(() => makeClient(storedKey()));
  const [auth, setAuth] = useState<Auth>('checking');
  const [version, setVersion] = useState<string>('');
  const [fatal, setFatal] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    client.listPipelines('status').then(
      () => live && setAuth('ok'),
      (e) => {
        if (!live) return;
        if (isApiError(e) && e.status === 401) setAuth('login');
        else {
          setFatal(errorText(e));
          setAuth('ok');
        }
      },
    );
    client.getConfig().then(
      (c) => live && setVersion(c.version),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [client]);
  const session: Session = useMemo(() => ({ client, unauthorized: () => setAuth('login') }), [client]);
  const logout = () => {
    sessionStorage.removeItem(KEY_ITEM);
    setClient(makeClient(undefined));
    setAuth('checking');
  };
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a href="#/" class="brand">
          Holdfast
        </a>
        <nav aria-label="Main">
          <a href="#/">Pipelines</a>
          <a href="#/new">New pipeline</a>
        </nav>
        <span class="muted version">{version && `v${version}`}</span>
        {client.authenticated && (
          <button type="button" class="link" onClick={logout}>
            Log out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {fatal && (
          <p class="error" role="alert">
            The server did not answer: {fatal}
          </p>
        )}
        {auth === 'checking' ? (
          <p>Connecting…</p>
        ) : auth === 'login' ? (
          <Login
            onLogin={(key) => {
              sessionStorage.setItem(KEY_ITEM, key);
              setClient(makeClient(key));
              setAuth('ok');
              // the form is gone: keyboard focus goes to the page's content
              requestAnimationFrame(() => document.getElementById('main')?.focus());
            }}
            wasLoggedIn={client.authenticated}
          />
        ) : (
          <Routes />
        )}
      </main>
    </SessionContext.Provider>
  );
}

function Routes() {
  const route = useRoute();
  const [first, second, third] = route;
  useEffect(() => {
    document.title = first === 'p' && second ? `${second} · Holdfast` : 'Holdfast console';
  }, [first, second]);
  if (first === 'new')
    return (
      <section aria-labelledby="new-h">
        <h1 id="new-h">New pipeline</h1>
        <ProgramForm />
      </section>
    );
  if (first === 'p' && second) return <PipelinePage key={second} name={second} tab={third ?? ''} />;
  return <PipelineList />;
}

function Login({ onLogin, wasLoggedIn }: { onLogin: (key: string) => void; wasLoggedIn: boolean }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(
    wasLoggedIn ? 'The API key was refused; enter it again.' : null,
  );
  const [busy, setBusy] = useState(false);
  return (
    <section class="login" aria-labelledby="login-h">
      <h1 id="login-h">Log in</h1>
      <p>
        This server requires an API key (the server's <code>--api-key</code> or <code>HOLDFAST_API_KEY</code>
        ). It is kept in this browser tab only, until you log out or close the tab.
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await makeClient(key).listPipelines('status');
            onLogin(key);
          } catch (err) {
            setError(
              isApiError(err) && err.status === 401
                ? 'The API key is not valid.'
                : `Cannot log in: ${errorText(err)}`,
            );
          }
          setBusy(false);
        }}
      >
        <label class="block">
          API key
          <input
            type="password"
            name="api-key"
            autoComplete="current-password"
            value={key}
            required
            onInput={(e) => setKey(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Log in
        </button>
      </form>
    </section>
  );
}
