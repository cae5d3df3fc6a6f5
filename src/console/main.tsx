/**
 * The web console's entry point (bundled by scripts/console.ts into dist/console/assets/): mounts the app on
 * `#app`. The console is a client of the `/v0` API through `@holdfast/client` only (tests/arch keeps it so).
 */
import { render } from 'preact';
import { App } from './app.tsx';
import './style.css';

const root = document.getElementById('app');
if (root) render(<App />, root);
