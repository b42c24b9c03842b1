// Loaded before every test file: the loopback guard must be in place before any SDK is imported.
import './loopback-guard.mjs';
