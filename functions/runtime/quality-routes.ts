/** The models function's quality routes: labels in, the joined report out. */
import { NotImplementedError, ValidationError } from '#core/errors.ts';
import type { ModelRegistry } from '#core/model/registry.ts';
import { feedbackLines, noQualitySection, truthOf } from '#core/quality/feedback.ts';
import { MAX_WINDOW_HOURS, qualityModelOf } from '#core/quality/model.ts';
import type { ApiRequest, ApiResponse } from '#http/request.ts';
import type { Quality } from './quality.ts';

export function qualityRoutes(deps: { readonly registry: ModelRegistry; readonly quality: Quality }) {
  const { registry, quality } = deps;
  const needsLog = () => {
    if (!quality.configured)
      throw new NotImplementedError(
        'Labelled quality is off here: set QUALITY_DESTINATION to a folder or s3://bucket/prefix (npm start and the CDK stack set it).',
      );
  };
  return {
    /** POST /v1/models/{model}/feedback. */
    postFeedback: async (req: ApiRequest<'postFeedback'>): Promise<ApiResponse> => {
      const model = req.params.model ?? '';
      req.scope.model = model;
      const truth = truthOf(registry.resolve(model).manifest);
      needsLog();
      const { lines, duplicates } = feedbackLines(truth, req.body ?? [], Date.now());
      await quality.labels(model, lines, `api-${process.pid}`, req.requestId);
      return {
        body: { model, accepted: lines.length, duplicates, quality: `/v1/models/${model}/quality` },
      };
    },
    /** GET /v1/models/{model}/quality[?hours=N]. */
    getQuality: async (req: ApiRequest<'getQuality'>): Promise<ApiResponse> => {
      const model = req.params.model ?? '';
      req.scope.model = model;
      const mv = registry.resolve(model);
      const q = qualityModelOf(mv.manifest);
      if (!q) throw noQualitySection(mv.manifest);
      needsLog();
      const raw = req.query.hours;
      const hours = raw === undefined ? undefined : Number(raw);
      if (
        hours !== undefined &&
        !(/^\d+(\.\d+)?$/.test(raw ?? '') && hours >= 0.1 && hours <= MAX_WINDOW_HOURS)
      )
        throw new ValidationError(
          `hours must be a number of hours from 0.1 to ${MAX_WINDOW_HOURS}, e.g. 24 or 0.5; got '${String(raw).slice(0, 20)}'.`,
        );
      return { body: await quality.report(q, hours) };
    },
  };
}
