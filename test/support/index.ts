export { freePort } from './ports.js';
export {
  spawnProcess,
  waitFor,
  waitForReady,
  spawnListening,
  spawnServe,
  sleep,
  trackTempDir,
  RingBuffer,
  type ManagedProcess,
  type WaitForOptions,
} from './process.js';
export { startPrometheus, type PrometheusOptions, type PrometheusHandle, type PromVectorSample } from './prometheus.js';
export { startAlertmanager, type AlertmanagerOptions, type AlertmanagerHandle } from './alertmanager.js';
export { startMetricsApp, type MetricsApp } from './metrics-app.js';
export { startRecorder, jsonBody, type Recorder, type RecordedRequest } from './webhook-recorder.js';
export { apiClient } from './api-client.js';
