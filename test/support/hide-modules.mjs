// `--import` this to make packages unresolvable, as in a stripped image that lacks a provider's SDK:
// HIDE_MODULES=pkg1,pkg2. Used to prove that a missing SDK gives a clear error, not a stack trace.
import { register } from 'node:module';

register(new URL('./hide-modules-hooks.mjs', import.meta.url), { data: { hidden: (process.env.HIDE_MODULES ?? '').split(',').filter(Boolean) } });
