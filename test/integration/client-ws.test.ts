/** The shared client suite over WebSocket. */
import { clientSuite } from './client-suite.js';

clientSuite('ws');
