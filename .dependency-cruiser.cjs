/**
 * Import rules between the layers of src/, checked by `npm run lint:deps` (.ci/run) and by
 * test/package/import-rules.test.ts (`npm test`). A broken rule prints the importing file, the
 * imported one (and the path between them for `reachable` rules) and the rule's comment, and
 * fails the run.
 *
 * Paths are relative to the project root; type-only imports count (tsPreCompilationDeps).
 */

/** Our modules of a layer: `layer('server')` is src/server/ and the barrel src/server.ts. */
const layer = (name) => `^src/${name}(/|\\.ts$)`;

/** Node modules that do I/O, as dependency-cruiser names them (`node:net` -> `net`). */
const IO_BUILTINS = '^(node:)?(net|tls|http|https|http2|dgram|dns|fs|fs/promises|child_process|worker_threads|cluster)$';
/** The WebSocket library, wherever npm put it. */
const WS = '(^|/)node_modules/ws/';

const PERSISTENCE_NO_SERVER_COMMENT =
  'persistence is a subscriber of the core: it may import src/core/, never the server or its front ends ' +
  '(a store replicated elsewhere must not drag the listeners in). Move what it needs into src/core/.';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-is-pure',
      severity: 'error',
      comment:
        'src/protocol/ maps bytes to values and back: it imports no transport, server, client, persistence ' +
        'or core module and no socket library, so every client and front end can share it.',
      from: { path: layer('protocol') },
      to: { path: [layer('transport'), layer('server'), layer('client'), layer('persistence'), layer('core'), layer('cli'), '^(node:)?(net|tls|http|https)$', WS] },
    },
    {
      name: 'core-has-no-io',
      severity: 'error',
      comment:
        'src/core/ (object types, effects, store, change stream, dispatch) is pure state: no sockets, files, ' +
        'transport, persistence, server or client. I/O belongs to the layers that subscribe to it.',
      from: { path: layer('core') },
      to: { path: [IO_BUILTINS, WS, layer('transport'), layer('persistence'), layer('server'), layer('client'), layer('cli')] },
    },
    {
      name: 'persistence-imports-no-server',
      severity: 'error',
      comment: PERSISTENCE_NO_SERVER_COMMENT,
      from: { path: layer('persistence') },
      to: { path: [layer('server'), layer('cli')] },
    },
    {
      name: 'client-imports-no-server',
      severity: 'error',
      comment:
        'src/client/ depends on protocol, transport, util and errors only: a program that connects must not ' +
        'load the server, the core or persistence (see the `syncmgr` entry point).',
      from: { path: layer('client') },
      to: { path: [layer('server'), layer('core'), layer('persistence'), layer('cli')] },
    },
    {
      name: 'client-entry-loads-no-server',
      severity: 'error',
      comment:
        'src/index.ts is the `syncmgr` entry point: the client. Nothing it reaches, directly or not, may be ' +
        'server, core or persistence code; those are exported from src/server.ts (`syncmgr/server`).',
      from: { path: '^src/index\\.ts$' },
      to: { path: [layer('server'), layer('core'), layer('persistence'), layer('cli')], reachable: true },
    },
    {
      name: 'util-is-a-leaf',
      severity: 'error',
      comment: 'src/util/ holds small helpers every layer may use: of ours it imports only src/util/ and src/errors.ts.',
      from: { path: layer('util') },
      to: { path: '^src/', pathNot: [layer('util'), '^src/errors\\.ts$'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
