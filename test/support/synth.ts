import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Environment } from 'aws-cdk-lib';
import { buildApp } from '../../infra/app.ts';
import { copyModelsSync } from '../helpers.ts';

/** Skips esbuild: for tests about the template and its checks, not the bundles. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

export interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string }[] }[];
}
export type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const dirs: string[] = [];
let shipped: string | undefined;
/** One copy of the shipped models per test file: the default `infera:models` of `synthApp`. */
function shippedModels(): string {
  if (!shipped) {
    shipped = copyModelsSync();
    dirs.push(shipped);
  }
  return shipped;
}
/** Removes every assembly and model copy `synthApp` wrote; call it from `after`. */
export function removeSynthOutput(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  shipped = undefined;
}

/**
 * Synthesizes the whole app as `cdk synth` does (cdk-nag and CDK's template validation run, and
 * fail it), without bundling, over the shipped models unless `infera:models` says otherwise (a
 * user's own models in models/ stay out), and returns the stack, its template's resources, the validation
 * report and the info annotations.
 */
export async function synthApp(env: Environment | undefined, context: Record<string, unknown> = {}) {
  const outdir = mkdtempSync(join(tmpdir(), 'infera-synth-'));
  dirs.push(outdir);
  const { app, stack } = await buildApp({
    outdir,
    context: { ...NO_BUNDLING, 'infera:models': shippedModels(), ...context },
    ...(env ? { env } : {}),
  });
  const assembly = app.synth();
  const artifact = assembly.getStackByName(stack.stackName);
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as ValidationReport;
  const template = JSON.parse(readFileSync(join(assembly.directory, artifact.templateFile), 'utf8')) as {
    Resources: Resources;
  };
  const infos = artifact.messages.filter((m) => m.level === 'info').map((m) => String(m.entry.data));
  const warnings = artifact.messages.filter((m) => m.level === 'warning').map((m) => String(m.entry.data));
  return {
    stack,
    report,
    resources: template.Resources,
    templatePath: join(assembly.directory, artifact.templateFile),
    infos,
    warnings,
  };
}

/** Every cdk-nag and template-validation finding of a report, as `plugin: rule`. */
export function findingsOf(report: ValidationReport): string[] {
  return report.pluginReports.flatMap((p) => p.violations.map((v) => `${p.pluginName}: ${v.ruleName}`));
}

export interface RuleViolation {
  readonly ruleName: string;
  readonly description: string;
  readonly suggestedFix: string;
}

/**
 * Synthesizes an app that must fail validation, as `cdk synth` would, and returns the AWS-rule
 * findings of its validation report (the plugin infera-aws-rules).
 */
export async function synthViolations(
  env: Environment | undefined,
  context: Record<string, unknown>,
): Promise<RuleViolation[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'infera-synth-'));
  dirs.push(outdir);
  const { app } = await buildApp({
    outdir,
    context: { ...NO_BUNDLING, 'infera:models': shippedModels(), ...context },
    ...(env ? { env } : {}),
  });
  let failed = false;
  try {
    app.synth();
  } catch (err) {
    failed = /Validation failed/.test((err as Error).message);
    if (!failed) throw err;
  }
  if (!failed) throw new Error('synth passed; expected it to fail validation');
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: RuleViolation[] }[];
  };
  return report.pluginReports.find((p) => p.pluginName === 'infera-aws-rules')?.violations ?? [];
}
