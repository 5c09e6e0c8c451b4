// Where Node's headers are on this machine (build.mjs builds against them; cross/cross.mjs too).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** --nodedir for headers that match the running node, when they are on this machine (its include/node then holds them). */
export function nodedir() {
  for (const dir of [dirname(dirname(process.execPath)), '/usr', '/usr/local']) {
    const inc = join(dir, 'include', 'node');
    if (existsSync(join(inc, 'node_api.h')) && existsSync(join(inc, 'common.gypi'))) return dir;
  }
  return null;
}
