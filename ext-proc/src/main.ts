// ext-proc process entry point. Wiring only.
import { runService } from '../../common/src/service-main.js';
import { startExtProc } from './adapters/service.js';
import { BUILT_IN_PLUGINS } from './core/scheduling/registry.js';

await runService('ext-proc', (config, log) => startExtProc(config, { log }), undefined, BUILT_IN_PLUGINS);
