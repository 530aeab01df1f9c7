import {
  TerraformProvider,
  terraformProviders,
} from '@idp-multicloud/plugin-control-plane-common';
import { GenerationInput, GenerationOutput, GenerationUnit } from '../model';
import { aws } from './aws';
import { azure } from './azure';
import { gcp } from './gcp';
import { block, HclBlock, ref, writeHcl } from './hcl';
import { oci } from './oci';
import { missingArguments } from './requiredArguments';
import {
  TerraformTarget,
  TerraformVariable,
  UnitContext,
  variableBlocks,
} from './target';

const targets = new Map<TerraformProvider, TerraformTarget>([
  ['aws', aws],
  ['gcp', gcp],
  ['azure', azure],
  ['oci', oci],
]);

/** The provider a unit is written for: the one asked for, else its pinned one, else AWS. */
function providerOf(
  unit: GenerationUnit,
  asked: TerraformProvider | undefined,
): TerraformProvider | undefined {
  if (asked) return asked;
  if (!unit.provider) return 'aws';
  return (terraformProviders as readonly string[]).includes(unit.provider)
    ? (unit.provider as TerraformProvider)
    : undefined;
}

/** The files of one provider's root module. */
function moduleFiles(
  provider: TerraformProvider,
  units: GenerationUnit[],
  all: GenerationUnit[],
  notes: string[],
) {
  const target = targets.get(provider)!;
  const variables = new Map<string, TerraformVariable>();
  const variable = (v: TerraformVariable) => {
    if (!variables.has(v.name)) variables.set(v.name, v);
    return ref(`var.${v.name}`);
  };
  const resources: HclBlock[] = [];
  for (const unit of units) {
    const write = target.products.get(unit.product);
    if (!write) {
      notes.push(
        `${unit.ref}: product ${unit.product} has no Terraform resource on ${provider}; left out`,
      );
      continue;
    }
    const ctx: UnitContext = {
      unit,
      variable,
      dependencies: unit.dependsOn
        .map(key => all.find(u => u.key === key)!)
        .filter(d => units.includes(d) && target.products.has(d.product)),
      note: text => notes.push(`${unit.ref} on ${provider}: ${text}`),
    };
    for (const written of write(ctx)) {
      const missing =
        written.type === 'resource' ? missingArguments(written) : [];
      if (missing.length > 0) {
        // A bug of the writer, never of the caller's input.
        throw new Error(
          `${written.labels?.join(
            '.',
          )} lacks required arguments: ${missing.join(', ')}`,
        );
      }
      resources.push(written);
    }
  }
  const providerBody = target.configure({ variable });
  const dir = `terraform/${provider}`;
  return [
    {
      path: `${dir}/versions.tf`,
      content: writeHcl([
        block('terraform', [
          ['required_version', '>= 1.5'],
          block('required_providers', [
            [
              target.localName,
              { source: target.source, version: target.version },
            ],
          ]),
        ]),
        block('provider', providerBody, [target.localName]),
      ]),
    },
    {
      path: `${dir}/variables.tf`,
      content: writeHcl(
        variableBlocks(
          [...variables.values()].sort((a, b) => a.name.localeCompare(b.name)),
        ),
      ),
    },
    { path: `${dir}/main.tf`, content: writeHcl(resources) },
  ];
}

/**
 * Terraform root modules, one per provider (`terraform/<provider>/`): the provider's usual
 * managed resource for each product (e.g. `aws_db_instance`, `google_sql_database_instance`,
 * `azurerm_mysql_flexible_server`, `oci_mysql_mysql_db_system`), every account-specific
 * input and every secret a variable (secrets `sensitive`, never a value), and a webapp wired
 * to its dependencies' endpoints. A resource goes to the provider asked for, else to the
 * one its placement is pinned to, else to AWS.
 */
export function generateTerraform(input: GenerationInput): GenerationOutput {
  const notes: string[] = [];
  const byProvider = new Map<TerraformProvider, GenerationUnit[]>();
  for (const unit of input.units) {
    const provider = providerOf(unit, input.provider);
    if (!provider) {
      notes.push(
        `${unit.ref}: pinned to ${unit.provider}, which has no Terraform provider here; left out`,
      );
      continue;
    }
    byProvider.set(provider, [...(byProvider.get(provider) ?? []), unit]);
  }
  const files = [...byProvider]
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([provider, units]) =>
      moduleFiles(provider, units, input.units, notes),
    );
  return { files, notes };
}
