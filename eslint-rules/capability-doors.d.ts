import type { Rule } from 'eslint';

declare const plugin: { rules: { 'capability-doors': Rule.RuleModule } };
export default plugin;
