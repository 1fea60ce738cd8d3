import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { globalOptions, note, printJson } from '../cli/context.js';
import { parseChoice } from '../cli/parse.js';

interface ReportFlags {
  dir: string;
  out?: string;
  format: string;
  open?: boolean;
}

/**
 * Opens a file with the desktop's opener (xdg-open), only where a display exists; elsewhere (a server, a
 * CI job, an SSH session) one line says why not, rather than an opener failing or hanging.
 */
function openFile(file: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    note(
      `not opening ${file}: no display here ($DISPLAY and $WAYLAND_DISPLAY are unset); open it in a browser`,
    );
    return;
  }
  const opener = spawn('xdg-open', [file], { detached: true, stdio: 'ignore' });
  opener.on('error', (error) => note(`could not open ${file} with xdg-open: ${error.message}`));
  opener.unref();
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("write one self-contained HTML page of the project's latest run: checklist, curves, charts")
    .option('--dir <dir>', 'project folder', '.')
    .option(
      '--out <path>',
      'the page (default <dir>/report.html); with --format svg, the charts folder (default <dir>/report-charts)',
    )
    .option('--format <format>', 'html (one page, charts inline) or svg (one SVG file per chart)', 'html')
    .option('--open', 'open the result with the system opener (xdg-open) when there is a display')
    .addHelpText(
      'after',
      '\nExamples:\n  rfsq report --dir demo-project\n  rfsq report --dir demo-project --format svg --out figures/\n  rfsq report --open',
    )
    .action(async (flags: ReportFlags, command: Command) => {
      const options = globalOptions(command);
      const format = parseChoice(flags.format, '--format', ['html', 'svg'] as const);
      const { defaultReportOut, writeReport } = await import('../services/report/index.js');
      const result = await writeReport({
        dir: flags.dir,
        out: flags.out ?? defaultReportOut(flags.dir, format),
        format,
      });
      if (options.json) printJson(result);
      else {
        const { renderReportSummary } = await import('../cli/render-report.js');
        process.stdout.write(`${renderReportSummary(result)}\n`);
      }
      if (flags.open) openFile(result.out);
    });
}
