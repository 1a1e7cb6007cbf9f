import type { Aliases, Manifest } from './manifest.ts';
import type { Placement, PlacementPolicy } from './placement.ts';
import type { TrafficPolicy } from './traffic.ts';

/** What the registry holds, and what the loader builds it from. */

/** One immutable model version: its manifest, its ONNX bytes' location and size, and its route. */
export interface ModelVersion {
  readonly name: string;
  readonly version: string;
  readonly dir: string;
  readonly modelPath: string;
  /** Size of model.onnx; undefined for a SageMaker model packaged without it (manifest only). */
  readonly sizeBytes: number | undefined;
  readonly manifest: Manifest;
  /** Where it runs and why. */
  readonly placement: Placement;
  /**
   * The model file's sha256 is checked when its bytes are first read for a session, not at load
   * (a shared model function: its cold start then reads no model file).
   */
  readonly hashOnUse?: true;
}

export interface LoadOptions {
  /** Restrict to these model names (a per-model Lambda function loads just its own). */
  readonly only?: readonly string[];
  readonly routing?: PlacementPolicy;
  /**
   * 'start': read and hash every model file at load (the default: a mismatch fails start-up).
   * 'use': only check each file's size at load, and its hash when a session first reads it.
   */
  readonly hashes?: 'start' | 'use';
}

export interface ModelEntry {
  readonly name: string;
  /** Versions in ascending numeric order. */
  readonly versions: readonly ModelVersion[];
  /** Alias -> one version; `live` is the primary version of the policy. */
  readonly aliases: Readonly<Aliases>;
  /** Who answers live traffic: one version or a weighted split, and an optional shadow. */
  readonly policy: TrafficPolicy;
}

/** The version chosen for a request, and why. */
export interface Picked {
  readonly mv: ModelVersion;
  /** requested: ?version= named it; live: the only live version; canary/stable: a side of a split. */
  readonly via: 'requested' | 'live' | 'stable' | 'canary';
  /** The shadow version to score the same request with, if the policy has one. */
  readonly shadow?: ModelVersion;
}

export const DEFAULT_ALIAS = 'live';
