/** The shared client suite over a Unix socket. */
import { clientSuite } from './client-suite.js';

clientSuite('unix');
