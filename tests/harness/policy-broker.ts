// The common case: one loopback listener and our plugin enforcing one policy module.
import { type Broker, type BrokerSpec, type ConfigContext, listener, pluginConf, startBroker } from './broker.js';
import { requireFile } from './paths.js';

export interface PolicyBrokerOptions {
  name: string;
  /** Path of the .wasm (checked to exist, so a missing build says so), or one made in the temp dir. */
  module: string | ((ctx: ConfigContext) => string);
  opts?: Record<string, string | number | ((ctx: ConfigContext) => string)>;
  allowAnonymous?: boolean;
  spelling?: 'plugin' | 'auth_plugin';
  files?: BrokerSpec['files'];
  setup?: BrokerSpec['setup'];
  /** Extra config after the plugin lines (e.g. a second plugin). */
  after?: (ctx: ConfigContext) => string;
  /** Extra config before the plugin lines. */
  before?: (ctx: ConfigContext) => string;
  ports?: number;
}

export function policyBrokerSpec(o: PolicyBrokerOptions): BrokerSpec {
  if (typeof o.module === 'string') requireFile(o.module, `policy module for ${o.name}`);
  return {
    name: o.name,
    ports: o.ports,
    files: o.files,
    setup: o.setup,
    config: (ctx) => {
      const opts: Record<string, string | number> = {};
      for (const [k, v] of Object.entries(o.opts ?? {})) opts[k] = typeof v === 'function' ? v(ctx) : v;
      return [
        listener(ctx.port),
        `allow_anonymous ${o.allowAnonymous ? 'true' : 'false'}`,
        o.before ? o.before(ctx) : '',
        pluginConf({ module: typeof o.module === 'string' ? o.module : o.module(ctx), opts, spelling: o.spelling }),
        o.after ? o.after(ctx) : '',
      ].join('\n');
    },
  };
}

export function startPolicyBroker(o: PolicyBrokerOptions): Promise<Broker> {
  return startBroker(policyBrokerSpec(o));
}
