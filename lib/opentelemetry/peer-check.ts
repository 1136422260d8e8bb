/**
 * Imported first by `coney/opentelemetry`: says what to install when the
 * optional peer dependency `@opentelemetry/api` is missing, instead of
 * Node's bare "Cannot find module" from deep inside the instrumentation.
 * @packageDocumentation
 */
try {
  require.resolve('@opentelemetry/api');
} catch (err) {
  // Node's own code for a missing module, so that code checking for it still works.
  throw Object.assign(
    new Error('coney/opentelemetry needs the package @opentelemetry/api (an optional peer dependency of coney): npm install @opentelemetry/api', {
      cause: err,
    }),
    { code: 'MODULE_NOT_FOUND' },
  );
}
