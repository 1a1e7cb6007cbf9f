/** The routes of Triton's HTTP extensions that tritonclient.http calls: configuration, index, statistics. */
import {
  errorResponseSchema,
  inferenceStatisticsSchema,
  repositoryIndexSchema,
  tritonModelConfigSchema,
} from '#core/protocol/schemas.ts';
import { op } from '../operation.ts';

export const TRITON_ROUTES = [
  op({
    id: 'modelConfig',
    method: 'GET',
    path: '/v2/models/{model}/config',
    function: 'models',
    tag: 'v2',
    summary:
      "The live version's configuration in Triton's JSON form (what tritonclient's get_model_config reads).",
    response: tritonModelConfigSchema,
  }),
  op({
    id: 'modelVersionConfig',
    method: 'GET',
    path: '/v2/models/{model}/versions/{version}/config',
    function: 'models',
    tag: 'v2',
    summary: "A version's configuration in Triton's JSON form.",
    response: tritonModelConfigSchema,
  }),
  op({
    id: 'repositoryIndex',
    method: 'POST',
    path: '/v2/repository/index',
    function: 'models',
    tag: 'v2',
    summary: 'Every model version and whether it is ready (tritonclient get_model_repository_index).',
    response: repositoryIndexSchema,
  }),
  op({
    id: 'modelLoad',
    method: 'POST',
    path: '/v2/repository/models/{model}/load',
    function: 'models',
    tag: 'v2',
    summary: 'Not supported: models are deployed with the stack. Answers 400 saying how to release one.',
    response: errorResponseSchema,
  }),
  op({
    id: 'modelUnload',
    method: 'POST',
    path: '/v2/repository/models/{model}/unload',
    function: 'models',
    tag: 'v2',
    summary: 'Not supported: models are deployed with the stack. Answers 400 saying how to remove one.',
    response: errorResponseSchema,
  }),
  op({
    id: 'serverStats',
    method: 'GET',
    path: '/v2/models/stats',
    function: 'models',
    tag: 'v2',
    summary:
      "Inference statistics of every model version, as the answering process counted them (tritonclient get_inference_statistics). Locally one process serves everything; on AWS each model's own route counts its function's requests.",
    response: inferenceStatisticsSchema,
  }),
  op({
    id: 'modelStats',
    method: 'GET',
    path: '/v2/models/{model}/stats',
    // The model's own function: it counts its requests.
    function: 'predict',
    tag: 'v2',
    summary: "A model's inference statistics, as the instance that answers counted them.",
    response: inferenceStatisticsSchema,
  }),
  op({
    id: 'modelVersionStats',
    method: 'GET',
    path: '/v2/models/{model}/versions/{version}/stats',
    function: 'predict',
    tag: 'v2',
    summary: "A version's inference statistics, as the instance that answers counted them.",
    response: inferenceStatisticsSchema,
  }),
] as const;
