/** The shared client suite over TCP. */
import { clientSuite } from './client-suite.js';

clientSuite('tcp');
