// The smallest program that loads what every run of the action must load: @actions/core (a requested dependency,
// whose @actions/http-client imports undici at the top). bench/up-to-date.ts bundles it as the action is bundled
// (ncc, minified) and times it, to show which part of the action's time no change to our own code can remove.
import '@actions/core'
