// The patch wizard's door: the Jobs page shows it, the Updates page opens it with a choice made.
export { PatchWizard } from './PatchWizard';
export { isOpen as wizardIsOpen } from './selectors';
export { openWizardWith, useWizard } from './store';
