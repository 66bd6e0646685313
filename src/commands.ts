import Config from './commands/config';
import Doctor from './commands/doctor';
import HelpCommand from './commands/help';
import Init from './commands/init';

/**
 * Every command, by id. The single binary cannot discover command files on disk, so oclif is given
 * this map (package.json declares the "explicit" strategy pointing here).
 */
export const COMMANDS = {
  config: Config,
  doctor: Doctor,
  help: HelpCommand,
  init: Init,
};
