// logql: the LogQL engine (parse, plan, evaluate over ClickHouse).
export { parseLogql, LogqlParseError } from './parse.ts';
export { formatExpr, formatSelector } from './format.ts';
export { createEngine, PipelineError, compareLabels } from './engine.ts';
export type { Engine, EngineLimits, EngineOptions, QueryRequest, QueryResult, QueryStats, StreamOut, LogEntryOut, Direction } from './engine.ts';
export type { Expr, LogSelector, MetricExpr, LabelMatcher, Stage } from './ast.ts';
export { isLogSelector, selectorsOf } from './ast.ts';
export type { Series, Matrix, LabelPairs } from './matrix.ts';
export { TENANT_LABEL, dayString, matcherSql } from './reader.ts';
export type { StreamRef } from './reader.ts';
export { formatFloat, formatSeconds, parseQueryDurationNs, parseHumanBytes, parseGoDurationNs } from './units.ts';
export { compilePipeline, LabelsBuilder, makeStreamLabels, labelsKey, ERROR_LABEL, ERROR_DETAILS_LABEL } from './pipeline.ts';
export type { Entry, Pipeline } from './pipeline.ts';
