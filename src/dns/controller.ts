// The DNS writer moved to src/controllers/dns/ (each controller is one folder); this path stays
// for the callers that import it from here.
export * from '../controllers/dns/controller.ts';
