import { defineConfig } from "vite";

// The console is built into the binary (crates/precinct-web/build.rs) and
// served by Precinct itself: everything it loads comes from the same origin.
export default defineConfig({
  base: "/",
  // `npx vite` for live reload while working on the pages: the API calls go
  // to a running Precinct (the demo by default).
  server: {
    proxy: { "/api": process.env.PRECINCT_URL ?? "http://127.0.0.1:8080" },
  },
  build: {
    target: "es2022",
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
  },
});
