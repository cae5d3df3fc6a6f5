/**
 * `HoldfastClient`: the SDK's entry point. It is the low-level REST client (`HoldfastApi`, one method per
 * `/v0` endpoint) plus `pipeline(name)`, which returns the high-level `Pipeline` handle.
 *
 *   const client = new HoldfastClient({ url: 'http://localhost:8080', apiKey: process.env.HOLDFAST_API_KEY });
 *   const p = await Pipeline.create(client, { name: 'orders', sql });   // or client.pipeline('orders')
 *   await p.start();
 *   await p.inputJson('orders', [{ id: 1, amount: 10 }], { wait: true });
 *   for await (const row of p.query('SELECT * FROM totals')) console.log(row);
 */
import { Pipeline, type PipelineHandleOptions } from './pipeline.ts';
import { HoldfastApi } from './rest-api.ts';

export class HoldfastClient extends HoldfastApi {
  /** A handle on the pipeline called `name` (no request is sent). */
  pipeline(name: string, options?: PipelineHandleOptions): Pipeline {
    return new Pipeline(this, name, options);
  }
}
