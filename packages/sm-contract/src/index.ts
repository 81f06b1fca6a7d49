/** sm's internal API: the schemas its routes validate with, and the one client wfm and sddc use. */
export {};
