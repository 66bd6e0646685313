import Config from './commands/config';
import DataGen from './commands/data/gen';
import Down from './commands/down';
import Env from './commands/env';
import Doctor from './commands/doctor';
import HelpCommand from './commands/help';
import ImagesBuild from './commands/images/build';
import ImagesList from './commands/images/list';
import Init from './commands/init';
import Logs from './commands/logs';
import Replay from './commands/replay';
import Status from './commands/status';
import Up from './commands/up';

/**
 * Every command, by id. The single binary cannot discover command files on disk, so oclif is given
 * this map (package.json declares the "explicit" strategy pointing here).
 */
export const COMMANDS = {
  config: Config,
  'data:gen': DataGen,
  doctor: Doctor,
  down: Down,
  env: Env,
  help: HelpCommand,
  'images:build': ImagesBuild,
  'images:list': ImagesList,
  init: Init,
  logs: Logs,
  replay: Replay,
  status: Status,
  up: Up,
};
