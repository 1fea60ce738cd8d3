import path from 'node:path';
import type { Command } from 'commander';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseInteger, parseNumber } from '../cli/parse.js';
import { DEFAULT_SIM_EPISODES_PER_TASK } from '../core/training-defaults.js';
import { writeFileAtomic } from '../services/files.js';

interface CollectFlags {
  tasks?: string;
  episodesPerTask: string;
  seed: string;
  noise?: string;
  out?: string;
}

interface ShowFlags {
  task: string;
  seed: string;
  policy?: string;
  tokenizer?: string;
  out?: string;
}

export function registerSim(program: Command): void {
  const sim = program
    .command('sim')
    .description('the simulated LIBERO-like task family (MuJoCo, WebAssembly)');

  sim
    .command('collect')
    .description('record scripted-expert demonstrations in robomimic / LIBERO HDF5 layout')
    .option(
      '--tasks <list>',
      'comma-separated: pick_place, place_precise, insert, rotate_place (default all)',
    )
    .option(
      '--episodes-per-task <n>',
      'successful episodes to keep per task',
      String(DEFAULT_SIM_EPISODES_PER_TASK),
    )
    .option('--seed <n>', 'seed of the layouts and the expert noise', '0')
    .option('--noise <std>', 'expert action noise, in action units (default 0.1)')
    .option('--out <file>', 'HDF5 file to write (default: the cached dataset that `--data sim` uses)')
    .addHelpText('after', '\nExample:\n  rfsq sim collect --episodes-per-task 10 --out demos.hdf5')
    .action(async (flags: CollectFlags, command: Command) => {
      const s = await import('../sim/index.js');
      const tasks = flags.tasks ? flags.tasks.split(',').map((task) => s.parseTaskName(task)) : s.TASK_NAMES;
      const seed = parseInteger(flags.seed, '--seed', 0);
      const episodesPerTask = parseInteger(flags.episodesPerTask, '--episodes-per-task');
      const noise =
        flags.noise === undefined ? s.DEFAULT_EXPERT_NOISE : parseNumber(flags.noise, '--noise', { min: 0 });
      const out = flags.out ?? s.defaultDemoPath({ seed, episodesPerTask });
      const result = await s.collectDemos({ tasks, episodesPerTask, seed, noise });
      await s.saveDemosHdf5(out, result.episodes, s.envArgs(tasks, seed, noise));
      const report = {
        out: path.resolve(out),
        counts: result.counts,
        episodes: result.episodes.length,
        seconds: result.elapsedMs / 1000,
      };
      if (globalOptions(command).json) return printJson(report);
      for (const [task, count] of Object.entries(result.counts)) {
        process.stdout.write(
          `${task.padEnd(14)} ${count.succeeded}/${count.attempted} expert episodes succeeded\n`,
        );
      }
      process.stdout.write(`${report.episodes} episodes → ${report.out} (${report.seconds.toFixed(1)} s)\n`);
    });

  sim
    .command('show')
    .description(
      'run one episode and draw it from above: an ASCII top view, or with --out x.svg a chart (path, object, target)',
    )
    .option('--task <name>', 'pick_place, place_precise, insert or rotate_place', 'pick_place')
    .option('--seed <n>', 'layout seed', '0')
    .option('--policy <dir>', 'a policy folder from `rfsq phase2 train` (default: the scripted expert)')
    .option('--tokenizer <dir>', 'with --policy: the tokenizer that decodes its codes')
    .option(
      '--out <file>',
      'also save the picture: <file>.svg gets the chart the report draws, any other name the ASCII view',
    )
    .action(async (flags: ShowFlags, command: Command) => {
      const s = await import('../sim/index.js');
      const task = s.parseTaskName(flags.task);
      const seed = parseInteger(flags.seed, '--seed', 0);
      const env = await s.SimEnv.create(task);
      let result;
      if (flags.policy) {
        const { inputError } = await import('../core/errors.js');
        if (!flags.tokenizer)
          throw inputError('--policy needs --tokenizer', 'pass the tokenizer the policy predicts codes for');
        const { loadPolicy, decodeSpeculative } = await import('../ml/policy/index.js');
        const { loadCheckpoint } = await import('../ml/tokenizer/checkpoint.js');
        const main = (await loadPolicy(path.join(flags.policy, 'main'), 'main')).model;
        const draft = (await loadPolicy(path.join(flags.policy, 'draft'), 'draft')).model;
        const tokenizer = await loadCheckpoint(flags.tokenizer);
        env.reset(seed);
        result = await s.runEpisode(env, (obs) =>
          tokenizer.denormalize(tokenizer.decodeFromCodes(decodeSpeculative(main, draft, obs).codes)),
        );
      } else {
        result = s.runExpertEpisode(env, seed);
      }
      env.dispose();
      const picture = s.renderTopView(result.trajectory);
      const track = s.topViewTrack(result.trajectory);
      if (flags.out?.toLowerCase().endsWith('.svg')) {
        const { topViewSpec } = await import('../services/report/specs.js');
        const { renderSvgs } = await import('../services/report/render.js');
        const spec = topViewSpec(
          track,
          { seed, ...result },
          flags.policy ? `policy ${flags.policy}` : 'scripted expert',
        );
        await writeFileAtomic(path.resolve(flags.out), (await renderSvgs([spec]))[0]!);
      } else if (flags.out) {
        await writeFileAtomic(path.resolve(flags.out), `${picture}\n`);
      }
      if (globalOptions(command).json)
        return printJson({ task, seed, success: result.success, steps: result.steps, picture, track });
      process.stdout.write(
        `${picture}\n${task} seed ${seed}: ${result.success ? 'success' : 'failure'} after ${result.steps} steps\n`,
      );
      if (flags.out) note(`saved to ${flags.out}`);
    });
}
