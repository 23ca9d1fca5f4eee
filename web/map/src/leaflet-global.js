// Leaflet as the global L: leaflet.markercluster, imported after this
// module, extends the global it finds.
import L from "leaflet";

globalThis.L = L;
export default L;
