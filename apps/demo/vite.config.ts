// Vite builds the demo into dist/, which `backchannel serve --demo` serves at `/`. `npm run dev -w apps/demo`
// serves it with hot reload instead, forwarding the token endpoint and signaling to a server on port 8080.
import { defineConfig } from 'vite';

/** The server `npm start` runs. */
const server = 'http://127.0.0.1:8080';

export default defineConfig({
  // Relative asset URLs: the page works wherever the server mounts it.
  base: './',
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true },
  server: {
    proxy: {
      '/demo/token': server,
      '/signaling': { target: server.replace(/^http/, 'ws'), ws: true },
    },
  },
});
