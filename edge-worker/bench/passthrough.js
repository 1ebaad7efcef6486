// Baseline for the benchmark: forwards every request, unchanged, to one fixed origin.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.ORIGIN + url.pathname + url.search, request);
  },
};
