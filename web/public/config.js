// Runtime configuration, read before the application bundle.
// Replace this file in a deployed or test build (no rebuild needed), e.g.:
//
// window.__TICKETFLOW_CONFIG__ = {
//   projectId: 'demo-ticketflow',
//   useEmulators: true,
//   firestoreEmulator: '127.0.0.1:8080',
//   authEmulator: 'http://127.0.0.1:9099',
//   functionsUrl: 'http://127.0.0.1:8090',
// };
window.__TICKETFLOW_CONFIG__ = window.__TICKETFLOW_CONFIG__ || undefined;
