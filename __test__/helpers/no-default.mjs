// A handler module that forgot its default export (fanout.spec.ts).
export const handle = () => {}
