/** mcp-shepherd on a free loopback port in front of a fresh demo server, for one test file. */
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd, type ShepherdOptions } from '../../src/index.js';
import { createLogger } from '../../src/log.js';

export interface ProxyFixture {
  upstream: DemoServer;
  shepherd: Shepherd;
  url: string;
  close(): Promise<void>;
}

export async function startProxy(options: Partial<ShepherdOptions> = {}): Promise<ProxyFixture> {
  const upstream = await DemoServer.start();
  const shepherd = createShepherd({ upstream: { url: upstream.urlVia() }, logger: createLogger('silent'), ...options });
  const { url } = await shepherd.listen({ port: 0 });
  return {
    upstream,
    shepherd,
    url,
    close: async () => {
      await shepherd.close();
      await upstream.close();
    },
  };
}
