// validate.mjs DOC: swagger-parser's validate(), as a generator would read the document.
import SwaggerParser from "@apidevtools/swagger-parser";

try {
  await SwaggerParser.validate(process.argv[2]);
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
