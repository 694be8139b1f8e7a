// The fuzz targets by name, for the bench command, the worker threads and the tests.
import { bgpTarget } from './bgp-target.js';
import { configTarget } from './config-target.js';
import { registryTarget } from './registry-target.js';
import type { FuzzTarget, TargetName } from './target.js';

export function targetByName(name: TargetName): FuzzTarget<unknown> {
  switch (name) {
    case 'bgp':
      return bgpTarget();
    case 'registry':
      return registryTarget();
    case 'config':
      return configTarget();
  }
}
