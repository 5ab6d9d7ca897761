// ext-proc process entry point. Wiring only.
import { runService } from '../../common/src/service-main.js';
import { startExtProc } from './adapters/service.js';

await runService('ext-proc', (config, log) => startExtProc(config, { log }));
