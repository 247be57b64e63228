/** Every server kind of the compatibility matrix, in the order the report lists them. */
import { startFastmcp } from './fastmcp.js';
import { startMcpHandler } from './mcp-handler.js';
import { startSdk400, startSdk404 } from './sdk1.js';
import { startSdk2 } from './sdk2.js';
import { startServerEverything } from './server-everything.js';
import { startTmcp } from './tmcp.js';
import type { FrameworkStarter } from './types.js';

export const frameworks: Array<{ name: string; start: FrameworkStarter }> = [
  { name: 'sdk-400', start: startSdk400 },
  { name: 'sdk-404', start: startSdk404 },
  { name: 'server-everything', start: startServerEverything },
  { name: 'fastmcp', start: startFastmcp },
  { name: 'mcp-handler', start: startMcpHandler },
  { name: 'tmcp', start: startTmcp },
  { name: 'sdk2', start: startSdk2 },
];

export type { FrameworkServer, FrameworkStarter, ToolCall, ToolSet } from './types.js';
