// autoscaler process entry point. Wiring only.
import { runService } from '../../common/src/service-main.js';
import { startAutoscaler } from './adapters/service.js';

await runService('autoscaler', (config, log) => startAutoscaler(config, { log }));
