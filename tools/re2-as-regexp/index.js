// gitlab-ci-local evaluates `rules: if: $VAR =~ /pattern/` and `include: local:` globs with the
// re2 package (Google's RE2, the engine GitLab uses), whose native module npm would compile from
// C++ for minutes on every fresh install. For the patterns in this project's pipeline, which use
// no syntax where RE2 and JavaScript differ, JavaScript's own RegExp gives the same answers: this
// class is it, constructed the way re2's RE2 is (`new RE2(pattern, flags)`, or from a RegExp).
"use strict";

class RE2 extends RegExp {
  constructor(pattern, flags) {
    if (pattern instanceof RegExp) {
      super(pattern.source, flags === undefined ? pattern.flags : flags);
    } else {
      super(pattern, flags);
    }
  }
}

module.exports = RE2;
module.exports.default = RE2;
